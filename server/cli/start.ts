/** `weft start`: run the homeserver until SIGTERM or SIGINT, then shut down gracefully. */
import type { Command } from 'commander';
import { createHomeserver } from '../homeserver';
import { configOption, readConfig } from './config-file';

export function defineStart(program: Command): void {
  program
    .command('start')
    .description('start the homeserver; SIGTERM or SIGINT stops it gracefully')
    .addOption(configOption())
    .action(async (options: { config?: string }) => {
      const config = readConfig(options.config);
      // Listen for signals before anything else, so none is missed during start-up.
      const signals = watchSignals();
      try {
        const hs = await createHomeserver(config);
        try {
          for (const listener of await hs.listen()) {
            say(`listening on ${listener.url} (${listener.resources.join(', ')})`);
          }
          const signal = await signals.first;
          say(`${signal} received: finishing in-flight requests (send it again to stop at once)`);
        } finally {
          await hs.stop();
        }
        say('stopped');
      } finally {
        signals.dispose();
      }
    });
}

const say = (message: string) => process.stdout.write(`weft: ${message}\n`);

/** Resolves `first` on the first SIGTERM or SIGINT; a second one ends the process at once. */
function watchSignals(): { first: Promise<NodeJS.Signals>; dispose(): void } {
  let received = false;
  let resolve!: (signal: NodeJS.Signals) => void;
  const first = new Promise<NodeJS.Signals>((r) => (resolve = r));
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) {
      say(`${signal} received again: stopping at once`);
      process.exit(1);
    }
    received = true;
    resolve(signal);
  };
  process.on('SIGTERM', onSignal).on('SIGINT', onSignal);
  return { first, dispose: () => process.off('SIGTERM', onSignal).off('SIGINT', onSignal) };
}
