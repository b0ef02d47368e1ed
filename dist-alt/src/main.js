/**
 * The entry point. V8 flags come first: some act only on what is allocated
 * after them (see gc-tuning.ts), and loading the bridge's modules is most of
 * what the process allocates at start-up.
 */
import { tuneGarbageCollection } from './gc-tuning.js';
tuneGarbageCollection();
await import('./serve.js');
//# sourceMappingURL=main.js.map