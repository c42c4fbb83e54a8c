/** `npm run bench`: every benchmark suite in turn, each bounded. */
import { main as foundation } from './foundation';
import { main as rooms } from './rooms';
import { main as sync } from './sync';

async function run(): Promise<void> {
  await foundation();
  console.log();
  await rooms();
  console.log();
  await sync();
}

run().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
