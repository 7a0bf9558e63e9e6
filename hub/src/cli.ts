/**
 * Operator commands:
 *   migrate                     apply pending schema migrations
 *   schema:dump                 migrate, then rewrite schema/schema.sql from the database
 *   ensure-admin  --username U  make an admin with a generated password unless an admin exists; print it
 *   create-admin  --username U  make an admin (password from ORRERY_ADMIN_PASSWORD, else generated and printed)
 *   create-user   --username U [--password P] [--admin]
 *   create-token  --username U [--scopes a,b] [--note N]   print a new API token
 *   load-catalogs [--data DIR] [--if-missing]   load the catalog contexts (scripts/fetch-catalogs.sh)
 *   register-catalog --context C --username OWNER [--public] [--description D]
 *                               register the schema catalog_<C> as a context OWNER may share
 *   generate-catalog --rows N --seed S [--context C]   a synthetic SDSS-like catalog (default
 *                               context synthetic_sdss, public), the same for the same seed
 * Secrets never travel on the command line except --password for throwaway test accounts.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { normaliseUsername } from './accounts/names.ts';
import { createAccount } from './accounts/service.ts';
import { countAdmins, findUserByName, setPasswordHash, updateUserFlags } from './accounts/store.ts';
import { hashPassword } from './auth/passwords.ts';
import { effectiveScopes } from './auth/scopes.ts';
import { createToken } from './auth/tokens.ts';
import { loadConfig, scienceDatabaseUrlOf } from './config.ts';
import { migrate } from './db/migrate.ts';
import { createPool, type Db, inTransaction } from './db/pool.ts';
import { dumpSchema, SCHEMA_DUMP_PATH } from './db/schemaDump.ts';
import { createLogger } from './log.ts';
import {
  catalogLoaded,
  loadCatalog,
  registerCatalogSchema,
  standardCatalogs,
} from './mydb/catalogLoader.ts';
import { openScienceDatabase, type ScienceDatabase } from './mydb/science.ts';
import { generateSyntheticCatalog } from './mydb/synthetic.ts';

const [command, ...rest] = process.argv.slice(2);
const { values } = parseArgs({
  args: rest,
  options: {
    username: { type: 'string' },
    password: { type: 'string' },
    admin: { type: 'boolean', default: false },
    scopes: { type: 'string' },
    note: { type: 'string' },
    email: { type: 'string' },
    data: { type: 'string' },
    'if-missing': { type: 'boolean', default: false },
    context: { type: 'string' },
    public: { type: 'boolean', default: false },
    description: { type: 'string' },
    rows: { type: 'string' },
    seed: { type: 'string' },
  },
});
const config = loadConfig();

async function main(): Promise<void> {
  if (command === 'schema:dump') {
    await migrate(config.databaseUrl);
    writeFileSync(SCHEMA_DUMP_PATH, dumpSchema(config.databaseUrl));
    console.log(`wrote ${SCHEMA_DUMP_PATH}`);
    return;
  }
  if (command === 'migrate') {
    const ran = await migrate(config.databaseUrl);
    console.log(ran.length ? `applied: ${ran.join(', ')}` : 'the schema is up to date');
    return;
  }
  if (command === 'load-catalogs') {
    await loadCatalogs(values.data ?? path.join(config.stateDir, 'data', 'kstars'));
    return;
  }
  if (command === 'generate-catalog') {
    await generateCatalog();
    return;
  }
  if (!values.username) throw new Error(`${command ?? 'a command'} needs --username`);
  const db = createPool(config.databaseUrl, 2);
  try {
    if (command === 'ensure-admin') {
      if ((await countAdmins(db)) > 0) {
        console.log('an admin account exists (reset one with create-admin --username NAME)');
        return;
      }
      const password = process.env.ORRERY_ADMIN_PASSWORD ?? randomBytes(12).toString('base64url');
      const name = normaliseUsername(values.username);
      await inTransaction(db, (client) =>
        createAccount(
          client,
          config,
          { username: name, password, admin: true, approved: true },
          { type: 'user.create', payload: { via: 'cli', admin: true } },
        ),
      );
      console.log(`admin login: ${name} / ${password}`);
      return;
    }
    if (command === 'create-admin' || command === 'create-user') {
      const admin = command === 'create-admin' || values.admin === true;
      const generated = !values.password && !process.env.ORRERY_ADMIN_PASSWORD;
      const password =
        values.password ??
        process.env.ORRERY_ADMIN_PASSWORD ??
        randomBytes(12).toString('base64url');
      const name = normaliseUsername(values.username);
      const existing = await findUserByName(db, name);
      if (existing) {
        // Re-running is how an operator resets a lost admin password.
        await setPasswordHash(db, existing.id, await hashPassword(password, config.argon2));
        await updateUserFlags(db, existing.id, { admin: admin || existing.admin, approved: true });
      } else {
        await inTransaction(db, (client) =>
          createAccount(
            client,
            config,
            { username: name, email: values.email ?? null, password, admin, approved: true },
            {
              type: 'user.create',
              payload: { via: 'cli', admin },
            },
          ),
        );
      }
      console.log(
        `${existing ? 'updated' : 'created'} ${admin ? 'admin' : 'user'} ${name}${generated ? ` with password ${password}` : ''}`,
      );
      return;
    }
    if (command === 'register-catalog') {
      const owner = await findUserByName(db, normaliseUsername(values.username));
      if (!owner) throw new Error(`no user named ${values.username}`);
      if (!values.context) throw new Error('register-catalog needs --context');
      const context = values.context;
      await withScience(db, (science) =>
        registerCatalogSchema(db, science, {
          name: context,
          description: values.description ?? '',
          public: values.public === true,
          ownerId: owner.id,
        }),
      );
      console.log(
        `registered catalog_${context} as the context ${context}, owned by ${owner.name}`,
      );
      return;
    }
    if (command === 'create-token') {
      const user = await findUserByName(db, normaliseUsername(values.username));
      if (!user) throw new Error(`no user named ${values.username}`);
      const scopes = values.scopes ? values.scopes.split(',') : ['all'];
      const allowed = effectiveScopes(scopes, user.admin);
      if (allowed.size === 0) throw new Error('none of those scopes exist');
      const { token } = await createToken(db, user.id, {
        scopes,
        seconds: config.maxTokenSeconds,
        note: values.note ?? 'cli',
      });
      console.log(token);
      return;
    }
    throw new Error(
      `unknown command "${command}"; try migrate, create-admin, create-user, create-token`,
    );
  } finally {
    await db.end();
  }
}

/** Load (or with --if-missing, load only what is not loaded yet) the standard catalogs. */
async function loadCatalogs(dataDir: string): Promise<void> {
  const db = createPool(config.databaseUrl, 2);
  try {
    await migrate(config.databaseUrl);
    await withScience(db, async (science) => {
      for (const spec of standardCatalogs(dataDir)) {
        if (values['if-missing'] && (await catalogLoaded(db, science, spec.name))) {
          console.log(`catalog ${spec.name}: already loaded`);
          continue;
        }
        const rows = await loadCatalog(db, science, spec);
        console.log(`catalog ${spec.name}: ${rows} rows from ${spec.file}`);
      }
    });
  } finally {
    await db.end();
  }
}

/** The synthetic SDSS-like catalog (mydb/synthetic.ts). */
async function generateCatalog(): Promise<void> {
  const integer = (text: string | undefined, flag: string) => {
    if (!text || !/^\d+$/.test(text)) throw new Error(`generate-catalog needs ${flag} <integer>`);
    return Number(text);
  };
  const rows = integer(values.rows, '--rows');
  const seed = integer(values.seed, '--seed');
  const db = createPool(config.databaseUrl, 2);
  try {
    await migrate(config.databaseUrl);
    await withScience(db, async (science) => {
      const started = Date.now();
      const counts = await generateSyntheticCatalog(db, science, {
        rows,
        seed,
        ...(values.context ? { name: values.context } : {}),
      });
      console.log(
        `catalog ${values.context ?? 'synthetic_sdss'}: ${counts.photoobj} photoobj, ${counts.specobj} specobj rows (seed ${seed}) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    });
  } finally {
    await db.end();
  }
}

async function withScience(db: Db, work: (science: ScienceDatabase) => Promise<void>) {
  const log = createLogger(config.logLevel);
  const science = await openScienceDatabase(
    db,
    config.databaseUrl,
    scienceDatabaseUrlOf(config),
    log,
  );
  try {
    await work(science);
  } finally {
    await science.pool.end();
  }
}

main().catch((err) => {
  console.error(`orrery-hub: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
