// Dependent test steps: once one fails, the steps after it are skipped with the name of the
// step they needed, so one failure is reported once.
import { test } from 'node:test';

export function steps(onFailure) {
  let broken;
  return (name, fn) =>
    test(name, async (t) => {
      if (broken) return t.skip(`needs: ${broken}`);
      try {
        await fn(t);
      } catch (e) {
        broken = name;
        onFailure?.(e);
        throw e;
      }
    });
}
