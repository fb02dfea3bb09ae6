import { Injectable } from '@nestjs/common';
import { ScimResourceType } from './schema';

/** The resource types this server implements; discovery and the OpenAPI document are generated from it. */
@Injectable()
export class ScimRegistry {
  private readonly types = new Map<string, ScimResourceType>();

  register(rt: ScimResourceType): void {
    this.types.set(rt.name, rt);
  }

  all(): ScimResourceType[] {
    return [...this.types.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}
