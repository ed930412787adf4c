import fs from 'node:fs';
import path from 'node:path';

const PACKAGE_NAME = 'n8n-nodes-ltst-memory';

/**
 * The folder of this package's package.json. n8n loads every node file on its own, and tsup
 * places entries at different depths, so assets are found from the package root, never from
 * one entry's `__dirname`.
 */
export function packageRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, 'utf8')).name === PACKAGE_NAME) return dir;
    if (path.dirname(dir) === dir) throw new Error(`Cannot find the ${PACKAGE_NAME} package root above ${from}`);
  }
}

/** True when this code runs from the built bundle in dist/ (assets copied there), not from src/. */
export function runningFromDist(): boolean {
  return path.relative(packageRoot(), __dirname).split(path.sep)[0] === 'dist';
}
