import { Controller, Get, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError, Auth } from '@keyledger/gateway-http';
import { OPENAPI_DOCUMENT } from './api-docs';

// swagger-ui-dist stays an external module of the bundle, so its files are found at run time.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const swaggerUiDir: string = require('swagger-ui-dist').getAbsoluteFSPath();
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'application/javascript; charset=utf-8',
};

const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Keyledger API</title><link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="api"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#api', deepLinking: true });</script>
</body></html>`;

/** The OpenAPI document and an interactive page for it; not in the envelope, they are files. */
@Controller()
export class DocsController {
  private readonly json = JSON.stringify(OPENAPI_DOCUMENT);

  @Get('openapi.json')
  @Auth.none()
  openapi(@Res() reply: FastifyReply): void {
    reply.header('content-type', 'application/json; charset=utf-8').send(this.json);
  }

  @Get('docs')
  @Auth.none()
  page(@Res() reply: FastifyReply): void {
    reply.header('content-type', 'text/html; charset=utf-8').send(PAGE);
  }

  @Get('docs/assets/:file')
  @Auth.none()
  asset(@Param('file') file: string, @Res() reply: FastifyReply): void {
    const type = ASSETS[file];
    if (!type) throw new ApiError('NOT_FOUND', 'no such asset');
    reply.header('content-type', type).header('cache-control', 'public, max-age=86400').send(readFileSync(join(swaggerUiDir, file)));
  }
}
