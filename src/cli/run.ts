// crema's CLI as a process. bin/crema.js loads it from the sources or dist/; the local runtime
// starts its sidecars and gateways from a bundle of it (src/runtime/cli-bundle.ts).
import { main } from "./main.ts";

process.exitCode = await main(process.argv.slice(2));
