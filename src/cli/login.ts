import type { Command } from 'commander';
import { openEngine } from './common.js';
import { addRegistryOptions, tlsVerifyFlag, type RegistryFlags } from './registry-options.js';

export function register(program: Command): void {
  addRegistryOptions(program
    .command('login')
    .description('Log in to a registry: check the credentials and keep them in the auth file (mode 0600)')
    .usage('[OPTIONS] REGISTRY')
    .argument('<registry>', 'host[:port] of the registry')
    .option('-u, --username <name>', 'user name')
    .option('-p, --password <password>', 'password (visible in the process list: prefer --password-stdin)')
    .option('--password-stdin', 'read the password from standard input'))
    .action(async (registry: string, flags: RegistryFlags & { username?: string; password?: string; passwordStdin?: boolean }) => {
      await openEngine();
      const { login } = await import('../engine/images/login.js');
      await login(registry, { ...flags, tlsVerify: tlsVerifyFlag(flags.tlsVerify) });
      process.stdout.write('Login Succeeded!\n');
    });

  program
    .command('logout')
    .description('Remove a registry\'s credentials from the auth file')
    .usage('[OPTIONS] [REGISTRY]')
    .argument('[registry]')
    .option('-a, --all', 'remove the credentials of every registry')
    .option('--authfile <file>', 'credentials file (default $XDG_RUNTIME_DIR/containers/auth.json)')
    .action(async (registry: string | undefined, flags: { all?: boolean; authfile?: string }) => {
      const { logout } = await import('../engine/images/login.js');
      process.stdout.write(`${logout(registry, flags)}\n`);
    });
}
