import fs from 'node:fs';
import readline from 'node:readline';
import { invalidInput } from '../errors';
import type { StoreMessageInput } from '../index';

/** The messages of a JSON Lines file, one object per line (blank lines skipped), read as a stream. */
export async function* jsonlMessages(file: string): AsyncGenerator<StoreMessageInput> {
  const lines = readline.createInterface({ input: fs.createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let number = 0;
  for await (const line of lines) {
    number += 1;
    if (line.trim() === '') continue;
    let message: StoreMessageInput;
    try {
      message = JSON.parse(line);
    } catch (error) {
      throw invalidInput(`line ${number}`, `of ${file} is not JSON: ${(error as Error).message}`, 'Write one message object per line, such as {"userId":"u1","sessionId":"s1","role":"human","content":"Hi"}.');
    }
    yield message;
  }
}
