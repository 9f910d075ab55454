import { HttpException } from '@nestjs/common';
import type { FastifyReply } from 'fastify';

const TITLES: Record<number, string> = { 401: 'Unauthorized', 503: 'Service Unavailable' };

/**
 * An RFC 9457 problem (same shape as the writer's and the revocation guard's) as an
 * HttpException; the headers go on the reply first, because exception filters do not carry
 * headers.
 */
export function problem(
  reply: FastifyReply,
  status: 401 | 503,
  code: string,
  detail: string,
  headers: Record<string, string> = {},
): HttpException {
  for (const [name, value] of Object.entries(headers)) {
    void reply.header(name, value);
  }
  void reply.header('content-type', 'application/problem+json');
  return new HttpException(
    {
      type: `urn:rescind:problem:${code}`,
      title: TITLES[status],
      status,
      detail,
      code,
      retriable: status === 503,
    },
    status,
  );
}
