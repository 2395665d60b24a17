/**
 * Imported for its side effect, before the benches load the sources: Node runs the TypeScript
 * directly, and the sources import `./x.js` as tsc expects, so a relative `.js` that does not exist
 * resolves to its `.ts`.
 */
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (err) {
      if (specifier.startsWith('.') && specifier.endsWith('.js')) return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
      throw err;
    }
  },
});
