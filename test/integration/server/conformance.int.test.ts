/**
 * The server's conformance suite: one set of tests, run unchanged against PGlite and against a
 * real PostgreSQL, one in-process server per backend (./conformance/fixture.ts). The tests are in
 * ./conformance/, a file per concern; run one concern with `-t`, e.g. `-t 'change feed'`.
 */
import { auditTests } from './conformance/audit';
import { authorizationTests } from './conformance/authorization';
import { basicsTests } from './conformance/basics';
import { concurrencyTests } from './conformance/concurrency';
import { connectionsTests } from './conformance/connections';
import { feedTests } from './conformance/feed';
import { onEveryBackend } from './conformance/fixture';
import { inputTests } from './conformance/input';
import { routeTableTests } from './conformance/routes';
import { secrecyTests } from './conformance/secrecy';
import { valuesTests } from './conformance/values';
import { versionsTests } from './conformance/versions';

onEveryBackend((ctx) => {
  routeTableTests(ctx);
  basicsTests(ctx);
  authorizationTests(ctx);
  valuesTests(ctx);
  versionsTests(ctx);
  feedTests(ctx);
  concurrencyTests(ctx);
  inputTests(ctx);
  auditTests(ctx);
  connectionsTests(ctx);
  secrecyTests(ctx);
});
