import './base.css';
import './mydb.css';
