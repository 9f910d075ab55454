import { Controller, Get } from '@nestjs/common';
import { InjectConfig, type WriterConfig } from '../config/config';
import { RulePolicy } from '../write-path/rule-policy';
import { buildOpenApiDocument } from './openapi-document';

/** `GET /openapi.json`, without authentication: the API description is not a secret. */
@Controller()
export class OpenApiController {
  private readonly document: Record<string, unknown>;

  constructor(policy: RulePolicy, @InjectConfig('rules') rules: WriterConfig['rules']) {
    // Built once: it depends only on the configuration.
    this.document = buildOpenApiDocument({
      allowedClaims: [...policy.allowedClaims],
      broadClaims: rules.broadClaims,
      bulkConfirmThreshold: rules.bulkConfirmThreshold,
    });
  }

  @Get('openapi.json')
  serve(): Record<string, unknown> {
    return this.document;
  }
}
