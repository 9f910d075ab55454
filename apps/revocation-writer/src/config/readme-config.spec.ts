import { describeReadmeConfigTable } from '../../../../test/support/readme-config-table';
import { EnvSchema } from './env-schema';

describeReadmeConfigTable('## Configuration of the writer', EnvSchema, 'writer');
