import { describeReadmeConfigTable } from '../../../../test/support/readme-config-table';
import { EnvSchema } from './config';

describeReadmeConfigTable('### The example gateway', EnvSchema, 'gateway');
