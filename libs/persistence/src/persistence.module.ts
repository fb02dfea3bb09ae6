import { DynamicModule, Global, Module } from '@nestjs/common';
import { DataSource, EntitySchema } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/config';
import { Database } from './database';
import { openDataSource } from './data-source';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type EntityClass = Function | EntitySchema<any>;

@Global()
@Module({})
export class PersistenceModule {
  static forRoot(entities: EntityClass[]): DynamicModule {
    return {
      module: PersistenceModule,
      providers: [
        { provide: DataSource, inject: [APP_CONFIG], useFactory: (config: AppConfig) => openDataSource(config.database, entities) },
        { provide: Database, inject: [DataSource], useFactory: (ds: DataSource) => new Database(ds) },
      ],
      exports: [DataSource, Database],
    };
  }
}
