import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@app/config';

/** Absolute URLs for `meta.location`, `$ref` and `Location` headers, from PUBLIC_URL (never from the Host header). */
@Injectable()
export class PublicUrl {
  readonly base: string;
  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.base = config.publicUrl;
  }
  resource(endpoint: string, id: string): string {
    return `${this.base}/admin/v1${endpoint}/${encodeURIComponent(id)}`;
  }
}
