import contentDisposition from 'content-disposition';
import { Errors } from '../errors.js';

const MAX_NAME_BYTES = 255;
// C0 controls, DEL and C1 controls: they break logs, headers and terminals.
// eslint-disable-next-line no-control-regex -- finding them is its purpose
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A context name as the upstream gets it: 1..255 UTF-8 bytes, no control characters. Never used as a path. */
export function validateName(name: string): string {
  const problem = nameProblem(name);
  if (problem) throw Errors.invalidName(problem);
  return name;
}

/** What is wrong with a name (a context's or a build's: the same rules), or undefined. */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'the name is empty';
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_NAME_BYTES) return `the name is ${bytes} bytes long, over ${MAX_NAME_BYTES}`;
  if (CONTROL.test(name)) return 'the name contains control characters';
  if (name.includes('\ufffd')) return 'the name is not valid UTF-8';
  return undefined;
}

/** The filename parameter of a Content-Disposition header, if there is a usable one. */
export function filenameFromContentDisposition(header: string | undefined): string | undefined {
  if (!header) return undefined;
  try {
    const filename = contentDisposition.parse(header).parameters['filename'];
    return filename || undefined;
  } catch {
    throw Errors.malformedRequest(`The Content-Disposition header ${JSON.stringify(header)} cannot be parsed; send e.g. \`Content-Disposition: attachment; filename="ctx.tar.gz"\` or use ?name=.`);
  }
}

/** `?name=`, given at most once. */
export function queryName(query: Record<string, unknown>): string | undefined {
  const name = query['name'];
  if (Array.isArray(name)) throw Errors.malformedRequest('?name= is given more than once; give it once.');
  return typeof name === 'string' ? name : undefined;
}
