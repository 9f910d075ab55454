import { Module } from '@nestjs/common';
import { configSliceToken, type WriterConfig } from '../config/config';
import { SnapshotModule } from '../snapshot/snapshot.module';
import { WritePathModule } from '../write-path/write-path.module';
import { ActiveRulesRepository } from './active-rules.repository';
import { GlobalRevocationController } from './global-revocation.controller';
import { IntrospectionController } from './introspection.controller';
import { MethodNotAllowedController } from './method-not-allowed.controller';
import { OAuthExceptionFilter } from './oauth-exception.filter';
import { RevocationController } from './revocation.controller';
import { TokenVerifier } from './token-verifier';

/** RFC 7009 revocation, RFC 7662 introspection, OAuth global token revocation. */
@Module({
  imports: [WritePathModule, SnapshotModule],
  controllers: [
    RevocationController,
    IntrospectionController,
    GlobalRevocationController,
    MethodNotAllowedController,
  ],
  providers: [
    ActiveRulesRepository,
    OAuthExceptionFilter,
    // Built once: each issuer's key set (and a remote set's cache) lives as long as the writer.
    {
      provide: TokenVerifier,
      inject: [configSliceToken('issuers')],
      useFactory: (issuers: WriterConfig['issuers']) => new TokenVerifier(issuers),
    },
  ],
})
export class OAuthModule {}
