import { RescindError } from '../errors';

/** A query parameter does not satisfy its schema: the request line, not a body, is wrong. */
export class InvalidQueryError extends RescindError {
  constructor(readonly problems: Array<{ parameter: string; detail: string }>) {
    super(
      'invalid_query',
      `invalid query: ${problems.map((p) => `${p.parameter}: ${p.detail}`).join('; ')}`,
    );
  }
}

/** A request header the endpoint reads is malformed. */
export class InvalidHeaderError extends RescindError {
  constructor(header: string, detail: string) {
    super('invalid_header', `invalid ${header} header: ${detail}`);
  }
}
