import { describe, expect, it } from 'vitest';
import { PrimedLoader } from '../../src/graphql/loaders/billing-loaders.js';

describe('PrimedLoader', () => {
  const make = () => {
    const batches: string[][] = [];
    const loader = new PrimedLoader<string, string[]>(async (ids) => {
      batches.push([...ids]);
      return ids.map((id) => [`loaded ${id}`]);
    });
    return { loader, batches };
  };

  it('hands out primed values synchronously, and loads what was not primed', async () => {
    const { loader, batches } = make();
    loader.prime('a', ['primed a']);
    expect(loader.peek('a')).toEqual(['primed a']);
    expect(await loader.load('a')).toEqual(['primed a']);
    expect(loader.peek('b')).toBeUndefined();
    expect(await loader.load('b')).toEqual(['loaded b']);
    expect(loader.peek('b')).toBeUndefined();
    expect(batches).toEqual([['b']]);
  });

  it('keeps what DataLoader keeps: a key already loaded is not primed over; cleared keys are gone', async () => {
    const { loader } = make();
    await loader.load('a');
    loader.prime('a', ['primed a']);
    expect(loader.peek('a')).toBeUndefined();
    expect(await loader.load('a')).toEqual(['loaded a']);

    loader.prime('b', ['primed b']);
    loader.clear('b');
    expect(loader.peek('b')).toBeUndefined();
    loader.prime('c', ['primed c']);
    loader.clearAll();
    expect(loader.peek('c')).toBeUndefined();
    expect(await loader.load('c')).toEqual(['loaded c']);
  });
});
