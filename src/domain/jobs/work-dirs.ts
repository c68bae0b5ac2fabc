// Private work folders of running jobs (an SIS load's copy of its file and its spool: patron
// data), under <dataDir>/spool. Nothing of them may outlive the job:
//  - a folder is removed when its job attempt ends, however it ends (success, refusal, failure);
//  - the ones still open when the process exits (a crash, process.exit) are removed at exit;
//  - a process killed outright (SIGKILL, power loss) leaves its folder, and the next process to
//    start on the data directory removes it: each folder is named after its process id
//    (`job-<pid>-<random>`), and only folders whose process is gone are swept, so two processes
//    sharing one data directory (carrel serve and carrel import, say) never remove each other's.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';

const PREFIX = 'job-';
const NAME = /^job-(\d+)-/;
const open = new Set<string>();
let exitHook = false;

/** True when no process has this pid (on this machine). */
export function processIsGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export interface WorkDir {
  path: string;
  /** Removes the folder and everything in it. */
  remove(): Promise<void>;
}

export async function createWorkDir(root: string): Promise<WorkDir> {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const dir of open) rmSync(dir, { recursive: true, force: true });
    });
  }
  const path = await mkdtemp(join(root, `${PREFIX}${process.pid}-`));
  open.add(path);
  return {
    path,
    async remove() {
      await rm(path, { recursive: true, force: true });
      open.delete(path);
    },
  };
}

/**
 * Removes the work folders whose process is gone, and this process's own from an earlier life
 * (a restarted container gets the same pid) that it does not hold open. Returns their names.
 */
export function sweepWorkDirs(root: string): string[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  const swept: string[] = [];
  for (const name of names) {
    const pid = Number(NAME.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const path = join(root, name);
    if (pid === process.pid ? open.has(path) : !processIsGone(pid)) continue;
    rmSync(path, { recursive: true, force: true });
    swept.push(name);
  }
  return swept;
}
