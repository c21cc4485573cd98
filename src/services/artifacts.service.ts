import type { Window } from '../db/page';
import { createHash } from 'node:crypto';
import { Clock, iso } from '../core/clock';
import { newId } from '../core/ids';
import type { Repositories } from '../db/repositories';
import type { ArtifactFile, ArtifactRecord } from '../db/repositories/artifacts.repository';
import { ApiError, fail, notFound } from '../core/errors';

export const MAX_ARTIFACT_BYTES = 5 * 1024 * 1024;
export const ARTIFACT_TYPES: readonly string[] = [
  'image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/pdf',
  'text/plain', 'text/csv', 'text/markdown', 'application/zip',
];

/** A file as it arrived: raw bytes with their content type, or base64 inside JSON. */
export type Upload =
  | { kind: 'raw'; contentType: string; filename?: string; bytes: Buffer }
  | { kind: 'base64'; contentType: string; name: string; base64: string };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Checks name, type and size and hashes the bytes; every refusal happens before anything is written. */
function toFile(upload: Upload): ArtifactFile {
  const contentType = upload.contentType.split(';')[0]!.trim().toLowerCase();
  if (!ARTIFACT_TYPES.includes(contentType)) {
    throw new ApiError('unsupported_media_type', `Files of type ${contentType} are not accepted; use one of: ${ARTIFACT_TYPES.join(', ')}.`, { allowed: ARTIFACT_TYPES });
  }
  let name: string;
  let content: Buffer;
  if (upload.kind === 'raw') {
    if (!upload.filename) throw fail('filename_required', 'Name the file in the ?filename= query parameter when sending raw bytes.');
    name = upload.filename;
    content = upload.bytes;
  } else {
    const compact = upload.base64.replace(/\s+/g, '');
    if (compact.length % 4 !== 0 || !BASE64.test(compact)) throw fail('invalid_base64', 'content_base64 is not valid base64.');
    name = upload.name;
    content = Buffer.from(compact, 'base64');
  }
  if (/[\\/\u0000-\u001f]/.test(name)) throw fail('invalid_filename', 'The file name may not contain slashes or control characters.');
  if (content.length === 0) throw fail('empty_file', 'The file is empty.');
  if (content.length > MAX_ARTIFACT_BYTES) {
    throw new ApiError('payload_too_large', `The file is ${content.length} bytes; the limit is ${MAX_ARTIFACT_BYTES} bytes (5 MB).`);
  }
  return { name, contentType, content, sha256: createHash('sha256').update(content).digest('hex') };
}

export function createArtifactsService(repos: Repositories, clock: Clock) {
  /** An artifact lives under a post: someone else's post, or a post without it, is a 404. */
  async function ownPost(userId: string, postId: string): Promise<void> {
    if (!(await repos.posts.findForUser(userId, postId))) throw notFound('Post');
  }

  async function get(userId: string, postId: string, id: string): Promise<ArtifactRecord> {
    const artifact = await repos.artifacts.find(userId, postId, id);
    if (!artifact) throw notFound('Artifact');
    return artifact;
  }

  return {
    get,
    async list(userId: string, postId: string, window: Window) {
      await ownPost(userId, postId);
      return repos.artifacts.list(userId, postId, window);
    },
    async create(userId: string, postId: string, upload: Upload): Promise<ArtifactRecord> {
      const file = toFile(upload);
      await ownPost(userId, postId);
      const now = iso(clock());
      const artifact: ArtifactRecord = {
        id: newId('art'),
        postId,
        userId,
        name: file.name,
        contentType: file.contentType,
        sizeBytes: file.content.length,
        sha256: file.sha256,
        createdAt: now,
        updatedAt: now,
      };
      await repos.artifacts.insert(artifact, file.content);
      return artifact;
    },
    async replace(userId: string, postId: string, id: string, upload: Upload): Promise<ArtifactRecord> {
      const file = toFile(upload);
      if (!(await repos.artifacts.replace(userId, postId, id, file, iso(clock())))) throw notFound('Artifact');
      return get(userId, postId, id);
    },
    async download(userId: string, postId: string, id: string) {
      const found = await repos.artifacts.content(userId, postId, id);
      if (!found) throw notFound('Artifact');
      return found;
    },
    async remove(userId: string, postId: string, id: string): Promise<void> {
      if (!(await repos.artifacts.delete(userId, postId, id))) throw notFound('Artifact');
    },
  };
}

export type ArtifactsService = ReturnType<typeof createArtifactsService>;
