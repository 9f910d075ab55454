import { Controller, Get, Inject } from '@nestjs/common';
import { WRITER_CONFIG, type WriterConfig } from '../config/config';
import { RulePolicy } from '../write-path/rule-policy';
import { buildOpenApiDocument } from './openapi-document';

/** `GET /openapi.json`, without authentication: the API description is not a secret. */
@Controller()
export class OpenApiController {
  private readonly document: Record<string, unknown>;

  constructor(policy: RulePolicy, @Inject(WRITER_CONFIG) config: WriterConfig) {
    // Built once: it depends only on the configuration.
    this.document = buildOpenApiDocument({
      allowedClaims: [...policy.allowedClaims],
      broadClaims: config.rules.broadClaims,
      bulkConfirmThreshold: config.rules.bulkConfirmThreshold,
    });
  }

  @Get('openapi.json')
  serve(): Record<string, unknown> {
    return this.document;
  }
}
