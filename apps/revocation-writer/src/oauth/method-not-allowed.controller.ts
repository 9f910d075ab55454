import { Controller, Delete, Get, Patch, Put, UseFilters } from '@nestjs/common';
import { OAuthError } from './oauth-error';
import { OAuthExceptionFilter } from './oauth-exception.filter';

const POST_ONLY = ['oauth/revoke', 'oauth/introspect'];

/** RFC 9110 §15.5.6: 405 with `Allow`. */
const postOnly = (): OAuthError =>
  new OAuthError('invalid_request', 'this endpoint accepts POST only', 405, { allow: 'POST' });

/**
 * RFC 7009 §2.1 and RFC 7662 §2.1 define POST only: other methods get 405 rather than 404, and a
 * token never travels in a URL (where access logs would keep it).
 */
@Controller()
@UseFilters(OAuthExceptionFilter)
export class MethodNotAllowedController {
  @Get(POST_ONLY)
  get(): never {
    throw postOnly();
  }

  @Put(POST_ONLY)
  put(): never {
    throw postOnly();
  }

  @Delete(POST_ONLY)
  delete(): never {
    throw postOnly();
  }

  @Patch(POST_ONLY)
  patch(): never {
    throw postOnly();
  }
}
