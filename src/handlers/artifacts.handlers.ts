import type { Request } from 'express';
import type { Upload } from '../services/artifacts.service';
import { Body, caller, HandlerMap, pageRequest, pathParam, queryString, sendPage } from './kit';
import { presentArtifact } from './presenters';
import type { Services } from './services';

/** Raw bytes arrive as a Buffer (their own content type); anything else validated is the JSON form. */
function uploadOf(req: Request): Upload {
  if (Buffer.isBuffer(req.body)) {
    return { kind: 'raw', contentType: req.get('content-type') ?? '', filename: queryString(req, 'filename'), bytes: req.body };
  }
  const json = req.body as Body<'createArtifact'> & { content_type: string; name: string; content_base64: string };
  return { kind: 'base64', contentType: json.content_type, name: json.name, base64: json.content_base64 };
}

/** `attachment` with an ASCII fallback and the exact name in RFC 5987 form. */
function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

export function artifactsHandlers({ artifacts }: Services): HandlerMap {
  const ids = (req: Request) => [caller(req).user.id, pathParam(req, 'postId')] as const;
  return {
    async listArtifacts(req, res) {
      const page = pageRequest(req);
      sendPage(res, page, await artifacts.list(...ids(req), page), presentArtifact);
    },
    async createArtifact(req, res) {
      res.status(201).json(presentArtifact(await artifacts.create(...ids(req), uploadOf(req))));
    },
    async getArtifact(req, res) {
      res.json(presentArtifact(await artifacts.get(...ids(req), pathParam(req, 'artifactId'))));
    },
    async replaceArtifact(req, res) {
      res.json(presentArtifact(await artifacts.replace(...ids(req), pathParam(req, 'artifactId'), uploadOf(req))));
    },
    async downloadArtifact(req, res) {
      const { artifact, content } = await artifacts.download(...ids(req), pathParam(req, 'artifactId'));
      res.set({
        'Content-Type': 'application/octet-stream',
        'Content-Disposition': contentDisposition(artifact.name),
        'X-Content-SHA256': artifact.sha256,
        'X-Artifact-Content-Type': artifact.contentType,
        'Cache-Control': 'private, no-cache',
      }).send(content);
    },
    async deleteArtifact(req, res) {
      await artifacts.remove(...ids(req), pathParam(req, 'artifactId'));
      res.status(204).end();
    },
  };
}
