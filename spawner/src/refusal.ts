/**
 * A backend's refusal to run a server for a user (not a fault): the hub answers it with a 403
 * carrying `message`, before it records anything.
 */
export class SpawnRefusedError extends Error {
  override readonly name = 'SpawnRefusedError';
}
