/** What the RACM routes answer. */
import { Type } from '@sinclair/typebox';
import { Id, Nullable, Strict, Timestamp } from '../http/schemas.ts';

export const ContextList = Strict({
  contexts: Type.Array(
    Strict({
      name: Type.String(),
      description: Type.String(),
      url: Nullable(Type.String()),
      resource_types: Type.Array(
        Strict({
          name: Type.String(),
          description: Type.String(),
          user_creatable: Type.Boolean(),
          actions: Type.Array(Type.String()),
        }),
      ),
    }),
  ),
});

const ResourceProperties = {
  id: Id,
  type: Type.String(),
  name: Type.String(),
  description: Type.String(),
  owner: Nullable(Type.String({ description: 'null once the owner’s account is deleted' })),
  created_at: Timestamp,
};

export const ResourceList = Strict({ resources: Type.Array(Strict(ResourceProperties)) });

export const NewResource = Strict({
  ...ResourceProperties,
  actions: Type.Array(Type.String(), {
    description: 'Every action of the type: the owner holds all',
  }),
});

const NamedGroup = Strict({ id: Id, name: Type.String() });

export const ResourceDetail = Strict({
  ...ResourceProperties,
  my_actions: Type.Array(Type.String()),
  privileges: Type.Array(
    Strict({
      id: Id,
      action: Type.String(),
      user: Nullable(Type.String()),
      group: Nullable(NamedGroup),
      granted_by: Nullable(Type.String()),
      granted_at: Timestamp,
    }),
  ),
});

export const Granted = Type.Union([
  Strict({ id: Id, action: Type.String(), user: Type.String() }),
  Strict({ id: Id, action: Type.String(), group: NamedGroup }),
]);

export const CheckAnswer = Strict({ allowed: Type.Boolean() });
