import './base.css';
import './mydb.css';
import './volumes.css';
import './jobs.css';
import './courses.css';
