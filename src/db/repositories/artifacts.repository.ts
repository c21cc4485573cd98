import type { Knex } from 'knex';
import { OLDEST_FIRST, Page, pageOf, Window } from '../page';

export interface ArtifactRecord {
  id: string;
  postId: string;
  userId: string;
  name: string;
  contentType: string;
  sizeBytes: number;
  sha256: string;
  createdAt: string;
  updatedAt: string;
}

export interface ArtifactFile {
  name: string;
  contentType: string;
  content: Buffer;
  sha256: string;
}

// Metadata reads never load the bytes.
const META = ['id', 'post_id', 'user_id', 'name', 'content_type', 'size_bytes', 'sha256', 'created_at', 'updated_at'];

function toArtifact(row: Record<string, any>): ArtifactRecord {
  return {
    id: row.id,
    postId: row.post_id,
    userId: row.user_id,
    name: row.name,
    contentType: row.content_type,
    sizeBytes: Number(row.size_bytes),
    sha256: row.sha256,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function artifactsRepository(db: Knex) {
  const owned = (userId: string, postId: string) => db('artifacts').where({ user_id: userId, post_id: postId });

  return {
    async insert(artifact: ArtifactRecord, content: Buffer): Promise<void> {
      await db('artifacts').insert({
        id: artifact.id,
        post_id: artifact.postId,
        user_id: artifact.userId,
        name: artifact.name,
        content_type: artifact.contentType,
        size_bytes: artifact.sizeBytes,
        sha256: artifact.sha256,
        content,
        created_at: artifact.createdAt,
        updated_at: artifact.updatedAt,
      });
    },
    async find(userId: string, postId: string, id: string): Promise<ArtifactRecord | undefined> {
      const row = await owned(userId, postId).andWhere({ id }).first(META);
      return row ? toArtifact(row) : undefined;
    },
    async content(userId: string, postId: string, id: string): Promise<{ artifact: ArtifactRecord; content: Buffer } | undefined> {
      const row = await owned(userId, postId).andWhere({ id }).first([...META, 'content']);
      return row ? { artifact: toArtifact(row), content: Buffer.from(row.content) } : undefined;
    },
    list(userId: string, postId: string, window: Window): Promise<Page<ArtifactRecord>> {
      return pageOf(() => owned(userId, postId), META, OLDEST_FIRST, window, toArtifact);
    },
    async replace(userId: string, postId: string, id: string, file: ArtifactFile, now: string): Promise<boolean> {
      const changed = await owned(userId, postId).andWhere({ id }).update({
        name: file.name,
        content_type: file.contentType,
        size_bytes: file.content.length,
        sha256: file.sha256,
        content: file.content,
        updated_at: now,
      });
      return changed > 0;
    },
    async delete(userId: string, postId: string, id: string): Promise<boolean> {
      return (await owned(userId, postId).andWhere({ id }).delete()) > 0;
    },
  };
}
