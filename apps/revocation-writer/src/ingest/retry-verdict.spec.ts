import { InvalidEventError, StorageUnavailableError } from '../errors';
import { isUnexpected, MAX_UNEXPECTED_FAILURES, retryVerdict } from './retry-verdict';

const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
  code: 'ECONNREFUSED',
});

describe(retryVerdict.name, () => {
  it('retries a PostgreSQL outage however often it failed: an outage is never dead-lettered', () => {
    for (const error of [refused, new StorageUnavailableError(refused)]) {
      expect(isUnexpected(error)).toBe(false);
      expect(retryVerdict(error, 1_000)).toBe('retry');
    }
  });

  it('dead-letters a record the domain rejects at once', () => {
    const error = new InvalidEventError([{ pointer: '/subject', detail: 'is required' }]);
    expect(isUnexpected(error)).toBe(false);
    expect(retryVerdict(error, 0)).toBe('dead-letter');
  });

  it(`retries a bug ${MAX_UNEXPECTED_FAILURES - 1} times, then dead-letters it so that the partition moves on (nestjs/nest#14664)`, () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'sub')");
    expect(isUnexpected(bug)).toBe(true);
    const verdicts = Array.from({ length: MAX_UNEXPECTED_FAILURES }, (_, i) =>
      retryVerdict(bug, i + 1),
    );
    expect(verdicts).toEqual([
      ...Array<string>(MAX_UNEXPECTED_FAILURES - 1).fill('retry'),
      'dead-letter',
    ]);
  });

  it("treats Nest's generic RPC error (what a handler's error becomes without RethrowToTransport) as unexpected", () => {
    const generic = { status: 'error', message: 'Internal server error' };
    expect(isUnexpected(generic)).toBe(true);
    expect(retryVerdict(generic, MAX_UNEXPECTED_FAILURES)).toBe('dead-letter');
  });
});
