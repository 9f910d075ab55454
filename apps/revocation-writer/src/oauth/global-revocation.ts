import { publishingProblems, storableText } from '@rescind/contracts';
import { z } from 'zod';
import { RescindError } from '../errors';
import type { RuleOrigin, RuleSpec } from '../write-path/stored-rule';
import type { RulePolicy } from '../write-path/rule-policy';

/** draft-parecki-oauth-global-token-revocation §3.4.2: a malformed or unsupported request is 400. */
export class GlobalRevocationRequestError extends RescindError {
  constructor(code: 'invalid_request' | 'unsupported_subject_format', message: string) {
    super(code, message);
  }
}

// RFC 9493 subject identifier formats Rescind can turn into a rule. Lengths and text: the
// invalidation contract's limits on a rule's value and issuer.
const value = storableText({ max: 1024 });
const SubjectIdentifierSchema = z.discriminatedUnion('format', [
  z.object({ format: z.literal('iss_sub'), iss: storableText({ max: 2048 }), sub: value }),
  z.object({
    format: z.literal('email'),
    email: value.regex(/^[^@\s]+@[^@\s]+$/, 'must be an email address'),
  }),
  z.object({ format: z.literal('opaque'), id: value }),
]);
export type SubjectIdentifier = z.infer<typeof SubjectIdentifierSchema>;
const SUPPORTED: readonly string[] = ['iss_sub', 'email', 'opaque'] satisfies Array<
  SubjectIdentifier['format']
>;

/** The request body (draft §3.2): `{"sub_id": <RFC 9493 subject identifier>}`. */
export function parseGlobalRevocationRequest(body: unknown): SubjectIdentifier {
  const envelope = z.object({ sub_id: z.looseObject({ format: z.string() }) }).safeParse(body);
  if (!envelope.success) {
    throw new GlobalRevocationRequestError(
      'invalid_request',
      'the body must be {"sub_id": {"format": ..., ...}} (RFC 9493 subject identifier)',
    );
  }
  if (!SUPPORTED.includes(envelope.data.sub_id.format)) {
    throw unsupportedFormat(envelope.data.sub_id.format);
  }
  const subject = SubjectIdentifierSchema.safeParse(envelope.data.sub_id);
  if (!subject.success) {
    const problems = subject.error.issues.map((i) => `sub_id.${i.path.join('.')}: ${i.message}`);
    throw new GlobalRevocationRequestError('invalid_request', problems.join('; '));
  }
  return subject.data;
}

function unsupportedFormat(format: string): GlobalRevocationRequestError {
  return new GlobalRevocationRequestError(
    'unsupported_subject_format',
    `subject identifier format ${JSON.stringify(format)} is not supported; use one of ${SUPPORTED.join(', ')}`,
  );
}

/**
 * Everything of the subject (draft §3.3: all refresh and access tokens, the user must
 * re-authenticate), grant-wide (`RulePolicy.grantWide`): tokens their earlier refresh tokens and
 * sessions mint after the request are revoked too. `iss_sub` names a subject of one issuer; `opaque` a `sub` of any issuer;
 * `email` needs `email` configured as a rule claim (CUSTOM_RULE_CLAIMS), else the format is
 * unsupported. Unknown subjects are not an error: Rescind keeps no user directory, and a rule
 * for nobody revokes nothing (and answering 404 would let callers enumerate users, §7.2). A
 * subject whose rule enforcement points could not apply (its key too long) is a malformed
 * request (§3.4.2: 400), named like the schema's problems.
 */
export function ruleForSubject(
  subject: SubjectIdentifier,
  policy: RulePolicy,
  receivedAtMs: number,
): RuleSpec {
  const identity = ((): Pick<RuleSpec, 'claim' | 'value' | 'iss'> & { origin: RuleOrigin } => {
    switch (subject.format) {
      case 'iss_sub':
        return {
          claim: 'sub',
          value: subject.sub,
          iss: subject.iss,
          origin: { value: '/sub_id/sub', iss: '/sub_id/iss' },
        };
      case 'opaque':
        return { claim: 'sub', value: subject.id, iss: null, origin: { value: '/sub_id/id' } };
      case 'email':
        if (!policy.isAllowedClaim('email')) {
          throw unsupportedFormat('email');
        }
        return {
          claim: 'email',
          value: subject.email,
          iss: null,
          origin: { value: '/sub_id/email' },
        };
    }
  })();
  const { origin } = identity;
  const spec = policy.grantWide(identity, receivedAtMs);
  const problems = publishingProblems(spec).map((p) => {
    const pointer = p.field === 'iss' && origin.iss !== undefined ? origin.iss : origin.value;
    return `${pointer.slice(1).replaceAll('/', '.')}: ${p.detail}`; // as the schema's: sub_id.sub
  });
  if (problems.length > 0) {
    throw new GlobalRevocationRequestError('invalid_request', problems.join('; '));
  }
  return spec;
}

/**
 * The `Idempotency-Key` header (draft-ietf-httpapi-idempotency-key-header: a Structured Field
 * string such as `"8e03978e"`; a bare token is accepted too), or undefined when absent.
 */
export function idempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) {
    return undefined;
  }
  const text = typeof header === 'string' ? header.trim() : '';
  const match = /^"([\x20\x21\x23-\x5b\x5d-\x7e]{1,255})"$|^([\x21\x23-\x7e]{1,255})$/.exec(text);
  if (!match) {
    throw new GlobalRevocationRequestError(
      'invalid_request',
      'Idempotency-Key must be 1 to 255 printable ASCII characters, once',
    );
  }
  return match[1] ?? match[2];
}
