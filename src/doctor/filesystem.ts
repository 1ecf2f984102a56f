/**
 * Which file system holds the lock root. Locks rely on hard links and kernel locks being
 * coherent for every process that uses the root; network file systems may not give that.
 */

import { type Check, check } from "./check.ts";

/** One mount from `/proc/self/mountinfo`. */
export interface Mount {
  mountPoint: string;
  fsType: string;
  source: string;
}

/** File system types whose locking or links are not reliable across machines or clients. */
export const NETWORK_FS_TYPES: readonly string[] = [
  "nfs",
  "nfs4",
  "cifs",
  "smb3",
  "smbfs",
  "9p",
  "ceph",
  "glusterfs",
  "lustre",
  "afs",
  "fuse.sshfs",
  "fuse.rclone",
  "davfs",
  "fuse.davfs2",
  "virtiofs",
  "vboxsf",
  "fuse.vmhgfs-fuse",
];

function unescapeMount(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, oct) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses the text of `/proc/self/mountinfo` (see proc(5)). Pure; skips malformed lines. */
export function parseMountInfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split("\n")) {
    const fields = line.trim().split(" ");
    const dash = fields.indexOf("-");
    if (dash < 6 || fields.length < dash + 3) continue;
    mounts.push({
      mountPoint: unescapeMount(fields[4]),
      fsType: fields[dash + 1],
      source: unescapeMount(fields[dash + 2]),
    });
  }
  return mounts;
}

/** The mount that holds `path` (absolute, symlinks resolved): the longest matching mount point. */
export function mountOf(path: string, mounts: readonly Mount[]): Mount | undefined {
  let best: Mount | undefined;
  for (const m of mounts) {
    const inside = m.mountPoint === "/" || path === m.mountPoint ||
      path.startsWith(m.mountPoint + "/");
    // A later mount on the same point hides the earlier one, hence `>=`.
    if (inside && (best === undefined || m.mountPoint.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

/** The nearest existing directory at or above `path`, symlinks resolved. */
export function nearestExisting(path: string): string {
  for (let p = path;;) {
    try {
      return Deno.realPathSync(p);
    } catch {
      const up = p.slice(0, p.lastIndexOf("/")) || "/";
      if (up === p) return p;
      p = up;
    }
  }
}

/** Judges the file system of `path` from the mount table text, if the OS has one. */
export function fileSystemCheck(path: string, mountInfo: string | undefined): Check {
  if (mountInfo === undefined) {
    return check("filesystem", "ok", "file system type: unknown (not readable on this OS)", {
      details: { fs_type: "unknown", mount_point: "", source: "" },
    });
  }
  const at = nearestExisting(path);
  const mount = mountOf(at, parseMountInfo(mountInfo));
  if (mount === undefined) {
    return check("filesystem", "ok", `file system type: unknown (no mount found for ${at})`, {
      details: { fs_type: "unknown", mount_point: "", source: "" },
    });
  }
  const details = { fs_type: mount.fsType, mount_point: mount.mountPoint, source: mount.source };
  if (NETWORK_FS_TYPES.includes(mount.fsType)) {
    return check(
      "filesystem",
      "warn",
      `${mount.fsType} on ${mount.mountPoint}: a network or shared file system; locks are only safe ` +
        "among processes of one machine, and links or kernel locks may not be coherent",
      { hint: "put the root on a local disk: LOKT_ROOT=/path/on/local/disk", details },
    );
  }
  return check("filesystem", "ok", `${mount.fsType} on ${mount.mountPoint}`, { details });
}
