import type { EngineInfo, VersionInfo } from '../engine/index.js';

/**
 * Docker's `info` and `version` documents from what the engine reports: the
 * CLI prints them (and their --format templates read them), the API serves
 * them. `info` follows Docker's field names (`.ServerVersion`, `.Driver`,
 * `.NCPU`), then rootlet's own sections under their lowercase names.
 */

/** Go's GOARCH-style name Docker prints as Architecture is uname's: x86_64, aarch64. */
function unameArch(a: string): string {
  return ({ x64: 'x86_64', arm64: 'aarch64', ia32: 'i686' } as Record<string, string>)[a] ?? a;
}

/** Docker's `info` document (the fields rootlet can fill), then rootlet's own sections. */
export function dockerInfo(i: EngineInfo): Record<string, unknown> {
  const cgroupVersion = i.host.cgroups === 'v2' || i.host.cgroups === 'unified' ? '2' : '1';
  return {
    ID: '',
    Containers: i.storage.containers,
    ContainersRunning: i.storage.containersRunning,
    ContainersPaused: 0,
    ContainersStopped: i.storage.containers - i.storage.containersRunning,
    Images: i.storage.images,
    Driver: i.storage.driver,
    DriverStatus: [],
    NCPU: i.host.cpus,
    MemTotal: i.host.memTotal,
    Name: i.host.hostname,
    KernelVersion: i.host.kernel,
    OperatingSystem: i.host.os,
    OSType: 'linux',
    Architecture: unameArch(i.host.arch),
    ServerVersion: i.version,
    DockerRootDir: i.storage.root,
    DefaultRuntime: i.runtime.name ?? '',
    Runtimes: i.runtime.name ? { [i.runtime.name]: { path: i.runtime.path } } : {},
    SecurityOptions: ['name=seccomp,profile=builtin', 'name=rootless'],
    CgroupDriver: 'none',
    CgroupVersion: cgroupVersion,
    LoggingDriver: 'k8s-file',
    Labels: [],
    ExperimentalBuild: false,
    Debug: false,
    ...i,
  };
}

/** Docker's `version` document: the client and, from the engine, the server with its runtime as a component. */
export function dockerVersion(v: VersionInfo & { runtime: EngineInfo['runtime'] }): { Client: Record<string, unknown>; Server: Record<string, unknown> } {
  const common = { Version: v.version, ApiVersion: v.apiVersion, GoVersion: `node ${v.nodeVersion}`, Os: v.os, Arch: unameArch(v.arch) };
  const components: Array<Record<string, unknown>> = [
    { Name: 'Engine', Version: v.version, Details: { ApiVersion: v.apiVersion, Arch: unameArch(v.arch), KernelVersion: v.kernel, Os: v.os } },
  ];
  if (v.runtime.name) components.push({ Name: v.runtime.name, Version: (v.runtime.version ?? '').replace(/^\S+ version /, ''), Details: { Path: v.runtime.path } });
  return {
    Client: { Platform: { Name: 'rootlet' }, ...common, DefaultAPIVersion: v.apiVersion, Context: 'default' },
    Server: { Platform: { Name: 'rootlet' }, Components: components, ...common, MinAPIVersion: v.apiVersion, KernelVersion: v.kernel, Experimental: false },
  };
}
