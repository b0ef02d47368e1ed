/**
 * The headless Chromium that @sparticuz/chromium ships inside its npm package, unpacked for a
 * plain Linux machine. The package's own executablePath() is built for AWS Lambda: it unpacks
 * into os.tmpdir() (reusing any /tmp/chromium, whatever its version), and puts its NSS, NSPR
 * and expat on LD_LIBRARY_PATH only on Amazon Linux. Its recommended args are for Lambda too
 * (`--single-process`, and `--disable-web-security`, which would defeat the CORS tests), so
 * only the package's files are used here, not its code.
 */
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brotliDecompress, createBrotliDecompress } from 'node:zlib';
const unbrotli = promisify(brotliDecompress);
/** The package's root, or undefined when it is not installed (a production install). */
function packageRoot() {
    try {
        // build/esm/index.js → the package root.
        return join(dirname(fileURLToPath(import.meta.resolve('@sparticuz/chromium'))), '..', '..');
    }
    catch {
        return undefined;
    }
}
/**
 * Unpacks the browser once into node_modules/.cache (per package version) and returns how to
 * start it. Unpacking goes to a private directory renamed into place, so a concurrent run never
 * sees half a browser.
 */
export async function npmChromium() {
    const root = packageRoot();
    if (!root)
        return undefined;
    const { name, version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
    const dir = join(root, '..', '..', '.cache', 'ignite-upload-bridge', `chromium-${version}`);
    if (!existsSync(dir))
        await unpack(join(root, 'bin'), dir);
    return {
        executablePath: join(dir, 'chromium'),
        env: {
            LD_LIBRARY_PATH: [join(dir, 'lib'), process.env['LD_LIBRARY_PATH']].filter(Boolean).join(':'),
            FONTCONFIG_PATH: join(dir, 'fonts'),
        },
        source: `${name} ${version}`,
    };
}
async function unpack(bin, dir) {
    const partial = `${dir}.partial-${process.pid}`;
    await rm(partial, { recursive: true, force: true });
    await mkdir(partial, { recursive: true });
    try {
        await pipeline(createReadStream(join(bin, 'chromium.br')), createBrotliDecompress(), createWriteStream(join(partial, 'chromium'), { mode: 0o755 }));
        // Beside the binary, as the package lays them out: libEGL/libGLESv2 are loaded from the executable's directory.
        await untar(await unbrotli(await readFile(join(bin, 'swiftshader.tar.br'))), partial);
        // lib/: libnss3, libnspr4, libexpat… built for Amazon Linux 2023, which run on any glibc x86-64 Linux.
        await untar(await unbrotli(await readFile(join(bin, 'al2023.tar.br'))), partial);
        const fonts = join(partial, 'fonts');
        await untar(await unbrotli(await readFile(join(bin, 'fonts.tar.br'))), fonts);
        // The package's fonts.conf names Lambda's directories; this one names the unpacked fonts.
        await writeFile(join(fonts, 'fonts.conf'), [
            '<?xml version="1.0"?>',
            '<!DOCTYPE fontconfig SYSTEM "fonts.dtd">',
            `<fontconfig><dir>${join(dir, 'fonts', 'fonts')}</dir><cachedir>${join(dir, 'fonts', 'cache')}</cachedir></fontconfig>`,
            '',
        ].join('\n'));
        await rename(partial, dir);
    }
    catch (err) {
        await rm(partial, { recursive: true, force: true });
        // Another process renamed its copy into place first: use that one.
        if (existsSync(dir))
            return;
        throw err;
    }
}
/** Extracts a tar archive of regular files and directories (all the package's archives hold). */
async function untar(archive, into) {
    const field = (header, start, length) => header.toString('utf8', start, start + length).replace(/\0.*$/s, '');
    let offset = 0;
    while (offset + 512 <= archive.length) {
        const header = archive.subarray(offset, offset + 512);
        if (header.every((byte) => byte === 0))
            break;
        // POSIX ustar may split a long name into prefix and name; GNU tar ("ustar  ") uses those bytes otherwise.
        const prefix = field(header, 257, 6) === 'ustar' ? field(header, 345, 155) : '';
        const path = prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100);
        const size = Number.parseInt(field(header, 124, 12).trim() || '0', 8);
        const mode = Number.parseInt(field(header, 100, 8).trim() || '644', 8) & 0o777;
        const type = String.fromCharCode(header[156]);
        const target = normalize(join(into, path));
        if (!target.startsWith(into + sep) && target !== into)
            throw new Error(`tar entry outside its directory: ${path}`);
        offset += 512;
        if (type === '5') {
            await mkdir(target, { recursive: true });
        }
        else if (type === '0' || type === '\0') {
            await mkdir(dirname(target), { recursive: true });
            await writeFile(target, archive.subarray(offset, offset + size), { mode });
        }
        else {
            throw new Error(`tar entry ${path} of type ${JSON.stringify(type)}: only files and directories are expected`);
        }
        offset += Math.ceil(size / 512) * 512;
    }
}
//# sourceMappingURL=npm-chromium.js.map