import { Controller, Get, Module, Res, UseGuards } from '@nestjs/common';
import type { SnapshotEndV1, SnapshotHeaderV1 } from '@rescind/contracts';
import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import { DataSource } from 'typeorm';
import { BearerAuthGuard, RequirePermission } from '../auth/auth.guard';
import { rows } from '../database/sql';
import { invalidationEventFor } from '../rules/rule-events';
import { RULE_COLUMNS, type RuleRow, toRule } from '../rules/rules.repository';

const PAGE = 1000;

/**
 * Every active rule, streamed as NDJSON for enforcement points that start up: a header line with
 * the watermark (highest committed seq when the stream began), then one `rule.set` event per
 * line. Pages through the rules by seq, never loading the table into memory. A rule that changes
 * while streaming gets a higher seq and is streamed again (or first) with its new version; the
 * consumer pins its topic offsets before it asks, so it also receives every such change there.
 */
@Controller('v1/deny-list')
@UseGuards(BearerAuthGuard)
export class SnapshotController {
  constructor(private readonly dataSource: DataSource) {}

  @Get('snapshot')
  @RequirePermission('read')
  async snapshot(@Res() reply: FastifyReply): Promise<void> {
    const [top] = await rows<{ seq: string | null }>(
      this.dataSource.manager,
      `SELECT max(seq) AS seq FROM revocation_rule`,
    );
    const header: SnapshotHeaderV1 = {
      v: 1,
      type: 'snapshot',
      watermark: Number(top?.seq ?? 0),
      generatedAt: Date.now(),
    };
    void reply
      .header('content-type', 'application/x-ndjson')
      .header('cache-control', 'no-store')
      .header('rescind-snapshot-watermark', String(header.watermark))
      .send(Readable.from(this.lines(header)));
  }

  private async *lines(header: SnapshotHeaderV1): AsyncGenerator<string> {
    yield `${JSON.stringify(header)}\n`;
    let after = 0;
    let rules = 0;
    for (;;) {
      const page = await rows<RuleRow>(
        this.dataSource.manager,
        `SELECT ${RULE_COLUMNS} FROM revocation_rule
          WHERE status = 'active' AND seq > $1 AND (expires_at IS NULL OR expires_at > now())
          ORDER BY seq
          LIMIT ${PAGE}`,
        [after],
      );
      if (page.length === 0) {
        const end: SnapshotEndV1 = { v: 1, type: 'snapshot.end', rules };
        yield `${JSON.stringify(end)}\n`;
        return;
      }
      rules += page.length;
      yield page
        .map((row) => `${JSON.stringify(invalidationEventFor(toRule(row), header.generatedAt))}\n`)
        .join('');
      after = Number(page[page.length - 1]!.seq);
    }
  }
}

@Module({ controllers: [SnapshotController] })
export class SnapshotModule {}
