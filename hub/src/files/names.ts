/**
 * What a volume name and a path inside a volume may be. Every refusal here is a 400 with a
 * message naming the rule, before anything touches the disk.
 */
import { Invalid } from '../errors.ts';

const VOLUME_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;

/** 1-64 letters, digits, `-_.`; no leading dot (a hidden folder is not a volume). */
export function checkVolumeName(name: string): string {
  if (!VOLUME_NAME.test(name))
    throw new Invalid(
      'volume_name',
      'A volume name is 1-64 letters, digits, "-", "_" or ".", not starting with a dot',
    );
  return name;
}

export const MAX_NAME_BYTES = 255;
export const MAX_PATH_BYTES = 4096;

// C0 and C1 controls, DEL, and the bidirectional controls that make a name display as another
// (U+202E "evil.txt" shown as "txt.live"), plus zero-width marks and the BOM.
const FORBIDDEN_RANGES: [number, number][] = [
  [0x00, 0x1f],
  [0x7f, 0x9f],
  [0x61c, 0x61c],
  [0x200b, 0x200f],
  [0x2028, 0x202e],
  [0x2066, 0x2069],
  [0xfeff, 0xfeff],
];
const hasForbiddenChar = (name: string) =>
  [...name].some((ch) => {
    const code = ch.codePointAt(0)!;
    return FORBIDDEN_RANGES.some(([from, to]) => code >= from && code <= to);
  });

function refuse(message: string): never {
  throw new Invalid('bad_path', message);
}

/**
 * Split a path relative to a volume into checked segments ('' and '/' are the volume itself).
 * Refused: absolute paths, `.`/`..` segments, NUL and control characters, bidi controls,
 * names not in Unicode NFC, names over 255 bytes and paths over 4096 bytes.
 */
export function pathSegments(raw: string): string[] {
  if (Buffer.byteLength(raw) > MAX_PATH_BYTES) refuse(`A path is at most ${MAX_PATH_BYTES} bytes`);
  if (raw.startsWith('/') || raw.startsWith('\\'))
    refuse('Paths are relative to the volume; an absolute path is refused');
  if (raw === '') return [];
  const segments = raw.split('/');
  // One trailing slash names the same folder; empty segments anywhere else are refused.
  if (segments.at(-1) === '') segments.pop();
  for (const segment of segments) checkEntryName(segment);
  return segments;
}

/** One file or folder name. */
export function checkEntryName(name: string): string {
  if (name === '') refuse('A path may not contain an empty segment ("//")');
  if (name === '.' || name === '..')
    refuse(`"${name}" segments are refused: no path leaves its volume`);
  if (name.includes('\0')) refuse('A NUL byte is refused in a name');
  if (hasForbiddenChar(name))
    refuse('Control, bidirectional-override and zero-width characters are refused in names');
  if (name.normalize('NFC') !== name)
    refuse('Names must be in Unicode NFC form (the same letters may be spelled two ways)');
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) refuse(`A name is at most ${MAX_NAME_BYTES} bytes`);
  return name;
}
