/** `npm run bench`: every benchmark suite in turn, each bounded. */
import { main as foundation } from './foundation';
import { main as rooms } from './rooms';

async function run(): Promise<void> {
  await foundation();
  console.log();
  await rooms();
}

run().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
