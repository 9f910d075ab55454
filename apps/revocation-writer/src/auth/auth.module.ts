import { Global, Module } from '@nestjs/common';
import { BearerAuthGuard } from './auth.guard';
import { CredentialsRepository } from './credentials.repository';

@Global()
@Module({
  providers: [CredentialsRepository, BearerAuthGuard],
  exports: [CredentialsRepository, BearerAuthGuard],
})
export class AuthModule {}
