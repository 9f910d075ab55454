import { RescindError } from '../errors';

/**
 * A query parameter does not satisfy its schema. 400, not 422: the problem is the request
 * line, not a body the server understood.
 */
export class InvalidQueryError extends RescindError {
  constructor(readonly problems: Array<{ parameter: string; detail: string }>) {
    super(
      'invalid_query',
      `invalid query: ${problems.map((p) => `${p.parameter}: ${p.detail}`).join('; ')}`,
      400,
      false,
    );
  }
}

/** A request header the endpoint reads is malformed. */
export class InvalidHeaderError extends RescindError {
  constructor(header: string, detail: string) {
    super('invalid_header', `invalid ${header} header: ${detail}`, 400, false);
  }
}
