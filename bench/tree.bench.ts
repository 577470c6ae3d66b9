/**
 * Secrets view with 10,000 secrets (the 100,000 run is `npm run bench -- scaleTree`): loading the
 * store, the first render, expanding a group against sorting its names, one screen of tree items,
 * and the filter per keystroke; the heap the loaded store and view hold, against the same index
 * parsed from JSON (the least any in-memory copy of it costs).
 */
import { runBench } from './common';
import { measureTree, printTree } from './treeFigures';

runBench(async () => {
  printTree([await measureTree(10_000)]);
});
