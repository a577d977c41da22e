import type { Command } from 'commander';
import { services } from './common.js';
import { processContext } from './process-context.js';
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
      const { images } = await services();
      await images.login(registry, {
        username: flags.username, password: flags.password, passwordStdin: flags.passwordStdin,
        tlsVerify: tlsVerifyFlag(flags.tlsVerify), certDir: flags.certDir, authfile: flags.authfile,
      }, processContext());
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
      const r = await (await services()).images.logout(registry, flags);
      process.stdout.write(`Removed login credentials for ${r.registry ?? 'all registries'}\n`);
    });
}
