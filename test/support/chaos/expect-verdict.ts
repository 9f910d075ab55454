import type { Verdict } from './oracle';

/** The three counts of a verdict, all zero, with the first items of any that is not. */
export function expectNoViolation(verdict: Verdict): void {
  expect({
    lost: verdict.lost,
    duplicated: verdict.duplicated,
    wronglyAllowed: verdict.wronglyAllowed,
    examples: [
      ...verdict.lostItems.slice(0, 3),
      ...verdict.duplicateItems.slice(0, 3),
      ...verdict.wrongAllowItems.slice(0, 3),
    ],
  }).toEqual({ lost: 0, duplicated: 0, wronglyAllowed: 0, examples: [] });
}
