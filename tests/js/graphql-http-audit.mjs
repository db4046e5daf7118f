// graphql-http's server audits (GraphQL over HTTP) against a running server: one JSON line out.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
const results = [];
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  const result = await audit.fn();
  results.push({ id: audit.id, name: audit.name, status: result.status, reason: result.reason ?? null });
}
console.log(JSON.stringify(results));
