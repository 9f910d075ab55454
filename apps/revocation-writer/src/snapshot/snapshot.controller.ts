import { Controller, Get, Req, Res, UseGuards } from '@nestjs/common';
import type { SnapshotEndV1, SnapshotHeaderV1 } from '@rescind/contracts';
import { BINARY_SNAPSHOT_TYPE } from '@rescind/revocation-consumer';
import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import { type AuthenticatedRequest, BearerAuthGuard, RequirePermission } from '../auth/auth.guard';
import { type ReadScope, readScopeOf } from '../auth/permissions';
import { invalidationEventFor } from '../write-path/rule-events';
import { InjectConfig, type WriterConfig } from '../config/config';
import { DenyListMirror } from './deny-list-mirror';
import { SnapshotRepository } from './snapshot.repository';

/** Whether an Accept header asks for the binary snapshot (and prefers it to NDJSON). */
function acceptsBinary(accept: string | undefined): boolean {
  return (accept ?? '')
    .split(',')
    .some((range) => range.split(';')[0]!.trim().toLowerCase() === BINARY_SNAPSHOT_TYPE);
}

const PAGE = 1000;

/**
 * Every active rule, streamed as NDJSON for enforcement points that start up: a header line with
 * the watermark (highest committed seq when the stream began), then one `rule.set` event per
 * line. Pages through the rules by seq, never loading the table into memory. A rule that changes
 * while streaming gets a higher seq and is streamed again (or first) with its new version; the
 * consumer pins its topic offsets before it asks, so it also receives every such change there.
 *
 * A reader acting for one issuer (the enforcement points of one IdP's APIs) gets that issuer's
 * rules and the issuer-independent ones (`iss` null), which match its tokens too: leaving them
 * out would let through what every other enforcement point refuses. The watermark stays the
 * highest seq of all rules: the snapshot is complete up to it for what this reader gets.
 */
@Controller('v1/deny-list')
@UseGuards(BearerAuthGuard)
export class SnapshotController {
  constructor(
    private readonly snapshots: SnapshotRepository,
    private readonly mirror: DenyListMirror,
    @InjectConfig('snapshot') private readonly snapshotConfig: WriterConfig['snapshot'],
  ) {}

  @Get('snapshot')
  @RequirePermission('read')
  async snapshot(@Req() request: AuthenticatedRequest, @Res() reply: FastifyReply): Promise<void> {
    const scope = readScopeOf(request.principal!);
    // The binary snapshot holds every rule: for readers of every issuer, once the mirror is ready.
    const binary =
      scope.issuer === null && acceptsBinary(request.headers.accept)
        ? this.mirror.snapshot()
        : undefined;
    if (binary !== undefined) {
      void reply.header('vary', 'accept').header('etag', binary.etag);
      if (request.headers['if-none-match'] === binary.etag) {
        void reply.status(304).send();
        return;
      }
      void reply
        .header('content-type', BINARY_SNAPSHOT_TYPE)
        .header('cache-control', `private, max-age=${Math.floor(this.mirrorMaxAgeSeconds())}`)
        .header('rescind-snapshot-watermark', String(binary.lastSeq))
        .header('content-length', String(binary.bytes.length))
        .send(binary.bytes);
      return;
    }
    const header: SnapshotHeaderV1 = {
      v: 1,
      type: 'snapshot',
      watermark: await this.snapshots.watermark(),
      generatedAt: Date.now(),
    };
    void reply
      .header('content-type', 'application/x-ndjson')
      .header('cache-control', 'no-store')
      .header('rescind-snapshot-watermark', String(header.watermark))
      .header('vary', 'accept')
      .send(Readable.from(this.lines(header, scope)));
  }

  private mirrorMaxAgeSeconds(): number {
    return this.snapshotConfig.maxAgeMs / 1000;
  }

  private async *lines(header: SnapshotHeaderV1, scope: ReadScope): AsyncGenerator<string> {
    yield `${JSON.stringify(header)}\n`;
    let after = 0;
    let rules = 0;
    for (;;) {
      const page = await this.snapshots.rulesInForce(after, scope, PAGE);
      if (page.length === 0) {
        const end: SnapshotEndV1 = { v: 1, type: 'snapshot.end', rules };
        yield `${JSON.stringify(end)}\n`;
        return;
      }
      rules += page.length;
      yield page
        .map((rule) => `${JSON.stringify(invalidationEventFor(rule, header.generatedAt))}\n`)
        .join('');
      after = page[page.length - 1]!.seq;
    }
  }
}
