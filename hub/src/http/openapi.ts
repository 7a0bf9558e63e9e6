/** The OpenAPI 3.1 document, built from the route table so it always describes the API that runs. */
import { SCOPES } from '../auth/scopes.ts';
import { type RouteDef, routeId } from './route.ts';

export const API_BASE = '/hub/api';

const ERROR_SCHEMA = {
  type: 'object',
  required: ['error', 'message'],
  properties: {
    error: { type: 'string', description: 'A stable machine-readable reason, e.g. not_found' },
    message: { type: 'string', description: 'What went wrong, for people' },
    rule: {
      type: 'string',
      description: 'When a rule refused: which one, stable (e.g. last_owner, group_cap)',
    },
  },
};

const toOpenApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

function parametersOf(def: RouteDef) {
  const parameters: object[] = [];
  const add = (schema: RouteDef['params'], location: 'path' | 'query') => {
    const properties =
      (schema as { properties?: Record<string, object> } | undefined)?.properties ?? {};
    const required = new Set((schema as { required?: string[] } | undefined)?.required ?? []);
    for (const [name, property] of Object.entries(properties)) {
      parameters.push({
        name,
        in: location,
        required: location === 'path' || required.has(name),
        schema: property,
      });
    }
  };
  add(def.params, 'path');
  add(def.query, 'query');
  return parameters;
}

function successOf(def: RouteDef, status: string): object {
  if (status === '204') return { description: 'Done' };
  if (def.events)
    return {
      description: 'Server-sent events; each `data:` line is one JSON object of this schema',
      content: { 'text/event-stream': { schema: def.events } },
    };
  const type = def.contentType ?? 'application/json';
  return { description: 'Success', content: { [type]: { schema: def.response } } };
}

export function buildOpenApi(routes: RouteDef[], version: string): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const def of routes) {
    const path = toOpenApiPath(def.path);
    paths[path] ??= {};
    const status = String(def.status ?? 200);
    const access =
      'anonymous' in def.access
        ? 'No sign-in needed.'
        : `Needs scope \`${def.access.scope}\`${def.access.guard ? `; ${def.access.guard.describe}` : ''}${
            def.access.publicWhen ? ' (anyone, where the operator made it public)' : ''
          }${def.access.anonymousStatus ? `; ${def.access.anonymousStatus} without a credential` : ''}.${def.alsoAt ? ` Also served at \`${def.alsoAt}\`.` : ''}`;
    paths[path][def.method] = {
      operationId: routeId(def),
      summary: def.summary,
      description: access,
      tags: [def.tag],
      ...(def.lab ? { 'x-orrery-lab': true } : {}),
      // The operation follows JupyterHub's REST API (docs/jupyterhub.md lists what differs).
      ...(def.jupyterhub ? { 'x-jupyterhub-compatible': true } : {}),
      security: 'anonymous' in def.access ? [] : [{ token: [def.access.scope] }, { session: [] }],
      parameters: parametersOf(def),
      ...(def.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: def.body } } } }
        : {}),
      responses: {
        [status]: successOf(def, status),
        '4XX': {
          description: 'Refused',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Orrery hub API',
      version,
      description: 'Accounts, tokens, groups, RACM and activity.',
    },
    servers: [{ url: API_BASE }],
    paths,
    components: {
      schemas: { Error: ERROR_SCHEMA },
      securitySchemes: {
        token: {
          type: 'http',
          scheme: 'bearer',
          description: `API token in "Authorization: token <t>" or "Bearer <t>". Scopes: ${Object.entries(
            SCOPES,
          )
            .map(([name, text]) => `${name} (${text})`)
            .join('; ')}`,
        },
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: 'orrery-session',
          description:
            'Browser session; state-changing requests also need header X-XSRFToken equal to the _xsrf cookie.',
        },
      },
    },
  };
}
