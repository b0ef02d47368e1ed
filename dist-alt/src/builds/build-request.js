import { Errors } from '../errors.js';
import { nameProblem } from '../upload/names.js';
export const MAX_TAGS = 16;
/** Docker's tag grammar. */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/**
 * The build an upload asks for, from the form's own spelling: a query or
 * form field `build`, and `tags` comma-separated, repeated, or (import JSON)
 * an array. Undefined when no build is asked for; INVALID_BUILD (400) when
 * anything is wrong, so it is refused before the archive's first byte.
 */
export function buildRequest(build, tags) {
    if (build === undefined) {
        if (tags !== undefined)
            throw Errors.invalidBuild('tags were given without a build name: add `build=<name>`');
        return undefined;
    }
    if (typeof build !== 'string')
        throw Errors.invalidBuild('the build name must be one string');
    const problem = nameProblem(build);
    if (problem)
        throw Errors.invalidBuild(`build: ${problem}`);
    return { name: build, tags: tagList(tags) };
}
function tagList(tags) {
    if (tags === undefined)
        return [];
    const given = typeof tags === 'string' ? [tags] : tags;
    if (!Array.isArray(given) || !given.every((tag) => typeof tag === 'string'))
        throw Errors.invalidBuild('tags must be strings');
    const list = given.flatMap((tag) => tag.split(',')).map((tag) => tag.trim()).filter((tag) => tag !== '');
    if (list.length > MAX_TAGS)
        throw Errors.invalidBuild(`${list.length} tags were given, at most ${MAX_TAGS} are allowed`);
    const bad = list.find((tag) => !TAG.test(tag));
    if (bad !== undefined)
        throw Errors.invalidBuild(`the tag ${JSON.stringify(bad)} is not a valid tag (letters, digits, _ . -, not starting with . or -, at most 128)`);
    return [...new Set(list)];
}
//# sourceMappingURL=build-request.js.map