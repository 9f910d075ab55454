import { configTableMismatches } from '../../../../test/support/readme-config-table';
import { EnvSchema } from './config';

const SECTION = '### The example gateway';

describe(`README "${SECTION}"`, () => {
  const mismatches = configTableMismatches(SECTION, EnvSchema);

  it('documents one variable per row, each by its name in backticks', () => {
    expect(mismatches.malformedRows).toEqual([]);
  });

  it('documents every variable of the schema, each once, and nothing the schema does not read', () => {
    expect(mismatches.undocumented).toEqual([]);
    expect(mismatches.unknownOrRepeated).toEqual([]);
  });

  it('states the default of every variable that has one, or `(none)` for an empty list', () => {
    expect(mismatches.unstatedDefaults).toEqual([]);
  });

  it('states as defaults only values the gateway itself falls back to', () => {
    expect(mismatches.wrongDefaults).toEqual([]);
  });
});
