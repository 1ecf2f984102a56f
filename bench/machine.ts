/** A description of the machine a benchmark ran on, for the top of the results. */

function read(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

function firstLine(cmd: string, ...args: string[]): string | undefined {
  try {
    const out = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).outputSync();
    if (!out.success) return undefined;
    return new TextDecoder().decode(out.stdout).split("\n")[0].trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The load averages (1, 5, 15 minutes), where the system reports them. */
export function loadAverage(): string {
  const text = read("/proc/loadavg").trim().split(/\s+/).slice(0, 3).join(" ");
  if (text !== "") return text;
  return firstLine("sysctl", "-n", "vm.loadavg")?.replace(/[{}]/g, "").trim() ?? "unknown";
}

/** Lines describing CPU, memory, OS, Deno and the comparison tools. */
export function describeMachine(): string[] {
  const cpuinfo = read("/proc/cpuinfo");
  const model = cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1] ??
    firstLine("sysctl", "-n", "machdep.cpu.brand_string") ?? "unknown";
  const memKiB = Number(read("/proc/meminfo").match(/^MemTotal:\s*(\d+)/m)?.[1]);
  const memory = Number.isFinite(memKiB)
    ? `${(memKiB / 1024 / 1024).toFixed(1)} GiB`
    : `${((Deno.systemMemoryInfo().total) / 1024 ** 3).toFixed(1)} GiB`;
  const os = read("/etc/os-release").match(/^PRETTY_NAME="?([^"\n]+)"?$/m)?.[1] ??
    firstLine("sw_vers", "-productVersion") ?? Deno.build.os;
  return [
    `CPU: ${model}, ${navigator.hardwareConcurrency} logical CPUs`,
    `Memory: ${memory}`,
    `OS: ${os}, kernel ${Deno.osRelease()} (${Deno.build.os} ${Deno.build.arch})`,
    `Deno: ${Deno.version.deno} (V8 ${Deno.version.v8}, TypeScript ${Deno.version.typescript})`,
    `flock(1): ${firstLine("flock", "--version") ?? "not found"}; bash: ${
      firstLine("bash", "--version")?.replace(/^GNU bash, version /, "") ?? "not found"
    }`,
    `File system of the temporary directory: ${fsType() ?? "unknown"}`,
  ];
}

function fsType(): string | undefined {
  const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
  return firstLine("stat", "-f", "-c", "%T", tmp);
}
