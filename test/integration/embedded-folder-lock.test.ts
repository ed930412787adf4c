import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closeAllMemory, openMemory, type MemoryConfig } from '../../src';
import { LOCK_FILE_NAME } from '../../src/db/folder-lock';
import { openDatabaseCount } from '../../src/db/registry';
import { runCoreChild, startCoreChild, stopChildren } from '../helpers/child-process';
import { ltstErrorOf } from '../helpers/databases';

// Two PGlite instances on one folder lose data: the folder belongs to one process at a time.
jest.setTimeout(180_000);

const schema = 'ltst_t_folder_lock';
// One folder for every test (each uses its own sessions): creating a PGlite folder is the slow part.
const folder = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ltst-lock-')));
const link = `${folder}-link`;
const configFor = (dataDir: string): MemoryConfig => ({ embedded: { dataDir }, schema, embeddings: { provider: 'none' } });
const lockFile = path.join(folder, LOCK_FILE_NAME);
const holderPid = () => JSON.parse(fs.readFileSync(lockFile, 'utf8')).pid;
const message = (sessionId: string, i: number) => ({ userId: 'u', sessionId, role: 'human' as const, content: `${sessionId} message ${i}` });
const count = async (sessionId: string, dataDir = folder) => (await openMemory(configFor(dataDir)).getMessages('u', sessionId, { limit: 1000 })).length;

afterEach(async () => {
  await stopChildren();
  await closeAllMemory();
});
afterAll(() => [link, folder].forEach((file) => fs.rmSync(file, { recursive: true, force: true })));

describe('an embedded folder opened by two processes', () => {
  it('refuses the second opener with FOLDER_IN_USE naming the folder and the holder; after the holder closes, both sessions are kept', async () => {
    const store = openMemory(configFor(folder));
    await store.migrate();
    for (let i = 0; i < 40; i += 1) await store.storeMessages([message('parent', i)]);
    expect(holderPid()).toBe(process.pid);

    const refused = await runCoreChild('write', { config: configFor(folder), sessionId: 'child', count: 40 });
    expect(refused.code).toBe(0);
    expect(refused.first.error).toMatchObject({ code: 'FOLDER_IN_USE' });
    expect(refused.first.error.message).toBe(
      `The embedded database folder ${folder} is in use by another process (pid ${process.pid}, since ${JSON.parse(fs.readFileSync(lockFile, 'utf8')).since})`,
    );
    expect(refused.first.error.hint).toMatch(/Several n8n processes \(queue-mode workers, `n8n execute` beside a running n8n\) need a PostgreSQL server/);

    await store.close();
    expect(fs.existsSync(lockFile)).toBe(false);
    const second = await runCoreChild('write', { config: configFor(folder), sessionId: 'child', count: 40 });
    expect(second).toMatchObject({ code: 0, first: { read: 40 } });

    expect(await count('parent')).toBe(40);
    expect(await count('child')).toBe(40);
  });

  it('refuses this process while a child holds the folder, and opens it with the child\'s data once the child exits', async () => {
    const holder = startCoreChild('write', { config: configFor(folder), sessionId: 'held', count: 10, hold: true });
    const { pid, read } = await holder.line();
    expect(read).toBe(10);

    const error = await ltstErrorOf(openMemory(configFor(folder)).health());
    expect(error.code).toBe('FOLDER_IN_USE');
    expect(error.message).toContain(`${folder} is in use by another process (pid ${pid}, since `);

    holder.process.stdin?.end();
    expect(await holder.exited).toBe(0);
    expect(fs.existsSync(lockFile)).toBe(false);
    expect(await count('held')).toBe(10);
  });

  it('takes over the lock of a process that was killed (its pid is gone)', async () => {
    const holder = startCoreChild('write', { config: configFor(folder), sessionId: 'killed', count: 5, hold: true });
    const { pid } = await holder.line();
    holder.process.kill('SIGKILL');
    expect(await holder.exited).toBe('SIGKILL');
    expect(holderPid()).toBe(pid); // nothing ran at its exit

    expect(await count('killed')).toBe(5);
    expect(holderPid()).toBe(process.pid);
  });

  (process.platform === 'linux' ? it : it.skip)('tells a live holder from a reused pid and from a restarted container that has the same pid', async () => {
    const startTime = (pid: number) => {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    };
    const sameMachine = { hostname: os.hostname(), pidNamespace: fs.readlinkSync('/proc/self/ns/pid'), since: new Date().toISOString() };
    const writeLock = (pid: number, started: string) => fs.writeFileSync(lockFile, JSON.stringify({ ...sameMachine, pid, startTime: started, token: `old-${pid}` }));
    const other = spawn('sleep', ['60']);
    try {
      const pid = other.pid as number;
      writeLock(pid, startTime(pid));
      expect(await ltstErrorOf(openMemory(configFor(folder)).health())).toMatchObject({ code: 'FOLDER_IN_USE', message: expect.stringContaining(`(pid ${pid}, since`) });
      writeLock(pid, '1'); // that pid now belongs to a process started later than the holder
      expect(await openMemory(configFor(folder)).health()).toMatchObject({ ok: true });
      expect(holderPid()).toBe(process.pid);
      await closeAllMemory();
      writeLock(process.pid, startTime(process.pid)); // left by an earlier process with this pid
      expect(await openMemory(configFor(folder)).health()).toMatchObject({ ok: true });
      expect(JSON.parse(fs.readFileSync(lockFile, 'utf8')).token).not.toBe(`old-${process.pid}`);
    } finally {
      other.kill();
    }
  });

  it('keeps its own lock fresh while open (every 15 s), so another host never takes over a live holder', async () => {
    await openMemory(configFor(folder)).health();
    const longAgo = new Date(Date.now() - 180_000);
    fs.utimesSync(lockFile, longAgo, longAgo);
    await new Promise((resolve) => setTimeout(resolve, 16_000));
    expect(Date.now() - fs.statSync(lockFile).mtimeMs).toBeLessThan(16_000);
  });

  it('honours a lock from another host while it is refreshed, and takes it over once it is older than 2 minutes', async () => {
    const since = new Date().toISOString();
    fs.writeFileSync(lockFile, JSON.stringify({ pid: 4242, hostname: 'other-host', since, token: 'theirs' }));
    const error = await ltstErrorOf(openMemory(configFor(folder)).migrate());
    expect(error).toMatchObject({ code: 'FOLDER_IN_USE', message: `The embedded database folder ${folder} is in use by another process (pid 4242 on host other-host, since ${since})` });
    expect(error.hint).toContain(`delete ${lockFile}`);

    const lastRefresh = new Date(Date.now() - 121_000);
    fs.utimesSync(lockFile, lastRefresh, lastRefresh);
    expect(await openMemory(configFor(folder)).migrate()).toMatchObject({ version: 6 });
    expect(holderPid()).toBe(process.pid);
  });
});

describe('one folder spelled several ways in one process', () => {
  it('is one database: `dir`, `dir/` and a symlink keep all 50 messages', async () => {
    fs.symlinkSync(folder, link);
    const spellings = [folder, `${folder}/`, link, path.relative(process.cwd(), folder)];
    await openMemory(configFor(folder)).migrate();
    await Promise.all(Array.from({ length: 50 }, (_, i) => openMemory(configFor(spellings[i % spellings.length])).storeMessages([message('spelled', i)])));
    expect(openDatabaseCount()).toBe(1);
    await closeAllMemory();
    expect(await count('spelled', `${folder}/`)).toBe(50);
  });
});
