import { streamCategory, LOG_START } from '@keyledger/event-store';
console.log(streamCategory('key-1'), LOG_START);
